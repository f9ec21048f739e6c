// /usr/bin/serviceradar-netflow-core: the query API, the UI and the poller check.
import { runCli } from '../../common/cli.js';

runCli('serviceradar-netflow-core', {
  core: () => import('../../core-extension/main.js'),
});
