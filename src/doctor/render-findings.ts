import type { Finding, FindingLevel } from './doctor-finding.js';
import type { DoctorReport } from './run-doctor.js';

const MARK: Readonly<Record<FindingLevel, string>> = { ok: '✓', info: '·', warn: '!', error: '✗' };

/** The human report: one line per finding, its fix under it, a closing count. */
export function renderFindings(report: DoctorReport, options: { color?: boolean } = {}): string {
  const paint = (level: FindingLevel, text: string): string => {
    if (!options.color) return text;
    const code = level === 'error' ? 31 : level === 'warn' ? 33 : level === 'ok' ? 32 : 2;
    return `\x1b[${code}m${text}\x1b[0m`;
  };
  const width = Math.max(...report.findings.map((f) => f.check.length), 5);
  const lines = report.findings.map((f: Finding) => {
    const head = `${paint(f.level, MARK[f.level])} ${f.check.padEnd(width)}  ${f.message}`;
    return f.fix ? `${head}\n  ${' '.repeat(width + 2)}fix: ${f.fix}` : head;
  });
  const verdict =
    report.errors === 0 && report.warnings === 0
      ? 'no problems found'
      : `${report.errors} problem${report.errors === 1 ? '' : 's'}, ${report.warnings} warning${report.warnings === 1 ? '' : 's'}`;
  return `${lines.join('\n')}\n\n${verdict}\n`;
}
