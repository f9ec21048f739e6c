import { RealtimeView } from '../components/RealtimeView.js';

export const metadata = { title: 'Real-Time Traffic · ServiceRadar' };

export default function Page() { return <RealtimeView />; }
