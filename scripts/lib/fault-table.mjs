// Prints the fault tests' tally (test/faults, one JSON line per scenario) as a Markdown table:
// studies in, answered and written back once, failures by reason, lost, duplicated.
import { readFileSync } from 'node:fs';

const rows = readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line));
const failed = (f) =>
  Object.entries(f)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ') || '0';
console.log(
  '| scenario | in | completed once | failed (explained) | lost | duplicated or contradictory | answers repeated (same eventId) |',
);
console.log('| --- | --: | --: | --- | --: | --: | --: |');
for (const r of rows) {
  console.log(
    `| ${r.scenario} | ${r.studiesIn} | ${r.completed} | ${failed(r.failed)} | ${r.lost.length} | ${r.duplicated.length} | ${r.repeatedAnswers} |`,
  );
}
