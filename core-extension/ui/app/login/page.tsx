import { LoginForm } from '../../components/LoginForm.js';

export const metadata = { title: 'Sign in · ServiceRadar Network Traffic' };

export default function Page() { return <LoginForm />; }
