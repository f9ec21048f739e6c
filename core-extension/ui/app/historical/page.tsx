import { HistoricalView } from '../../components/HistoricalView.js';

export const metadata = { title: 'Historical Traffic · ServiceRadar' };

export default function Page() { return <HistoricalView />; }
