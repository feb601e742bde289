import { checkImports, collectSources, projectRoot } from './import-rules.ts';

const violations = checkImports(collectSources(projectRoot()));
for (const v of violations) console.error(`${v.file}: import '${v.specifier}': ${v.reason}`);
if (violations.length > 0) process.exit(1);
console.log('import directions: ok');
