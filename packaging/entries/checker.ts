// /usr/bin/serviceradar-netflow-checker: the edge package carries the checker
// and the pcap decoder, nothing of the central tiers.
import { runCli } from '../../common/cli.js';

runCli('serviceradar-netflow-checker', {
  checker: () => import('../../checker/main.js'),
  decode: () => import('../../checker/decode-cli.js'),
});
