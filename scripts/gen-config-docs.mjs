// Writes docs/CONFIGURATION.md from the services' config schemas (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { configReference } from '../dist/common/config-docs.js';
import { CONFIG_FILES } from '../dist/common/config-files.js';

writeFileSync(new URL('../docs/CONFIGURATION.md', import.meta.url), configReference(CONFIG_FILES));
