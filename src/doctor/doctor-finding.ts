/** How bad a finding is: `error` makes `gpupool doctor` exit non-zero. */
export type FindingLevel = 'ok' | 'info' | 'warn' | 'error';

/** The area a finding belongs to, as the output groups them. */
export type DoctorCheck = 'drivers' | 'visibility' | 'config' | 'fit' | 'ports' | 'strays';

/** One thing `gpupool doctor` found, with how to fix it where something is wrong. */
export interface Finding {
  readonly check: DoctorCheck;
  readonly level: FindingLevel;
  readonly message: string;
  /** What to do; present on every `warn` and `error`. */
  readonly fix?: string;
}

export type DoctorEnv = Readonly<Record<string, string | undefined>>;
