/**
 * The one registry of gpupool's error codes. Every code has an HTTP status, a CLI exit code
 * and a remedy; `docs/errors.md` documents each (a test checks it). Messages are written
 * where the error is raised and must name the bad value and what is allowed.
 */
export interface ErrorCodeSpec {
  readonly httpStatus: number;
  readonly exitCode: number;
  readonly remedy: string;
}

export const ERROR_CODES = {
  GPUPOOL_E_CONFIG: { httpStatus: 400, exitCode: 3, remedy: 'Fix the config file where the message says; `docs/config.md` lists every key.' },
  GPUPOOL_E_CONFIG_NOT_FOUND: { httpStatus: 400, exitCode: 3, remedy: 'Pass an existing YAML file with -c.' },
  GPUPOOL_E_USAGE: { httpStatus: 400, exitCode: 2, remedy: 'Run the command with --help to see its options.' },
  GPUPOOL_E_UNKNOWN_MODEL: { httpStatus: 404, exitCode: 4, remedy: 'Use one of the model names defined under `models:` in the config.' },
  GPUPOOL_E_MODEL_REQUIRED: { httpStatus: 400, exitCode: 4, remedy: 'The config defines several models: choose one with -m.' },
  GPUPOOL_E_COMMAND_NOT_FOUND: { httpStatus: 500, exitCode: 5, remedy: 'Check `command:` of the model: the program must exist and be executable, and the script an interpreter runs (`[python3, worker.py]`) must exist (paths are relative to the config file).' },
  GPUPOOL_E_WORKER_START: { httpStatus: 503, exitCode: 6, remedy: 'Read the worker log named in the message; run the worker command by hand to see its error.' },
  GPUPOOL_E_WORKER_PROTOCOL: { httpStatus: 502, exitCode: 6, remedy: 'The worker broke the protocol (docs/protocol.md): never write frames to stdout, answer each batch once.' },
  GPUPOOL_E_UNKNOWN_DEVICE: { httpStatus: 400, exitCode: 7, remedy: 'Choose devices from `gpupool devices` (index or UUID), `all` or `cpu`.' },
  GPUPOOL_E_DEVICE_NOT_VISIBLE: { httpStatus: 400, exitCode: 7, remedy: 'gpupool runs under a visibility variable that hides this device: widen it or choose a visible device.' },
  GPUPOOL_E_NO_DEVICE_FITS: { httpStatus: 503, exitCode: 7, remedy: 'Free device memory, lower `memory.need` or `memory.reserve`, or choose other devices.' },
  GPUPOOL_E_INPUT_NOT_FOUND: { httpStatus: 404, exitCode: 8, remedy: 'Pass an existing JSONL file, directory or glob with -i (or - for stdin).' },
  GPUPOOL_E_INPUT_READ: { httpStatus: 400, exitCode: 8, remedy: 'Make the input readable (its permissions, a file where a file is expected), then run the same command again: it resumes where it stopped.' },
  GPUPOOL_E_INPUT_PARSE: { httpStatus: 400, exitCode: 9, remedy: 'Each input line must be one JSON value; fix or remove the named line.' },
  GPUPOOL_E_INPUT_TOO_LARGE: { httpStatus: 413, exitCode: 9, remedy: 'An input may be at most 255 MiB of JSON (a batch frame is at most 256 MiB, docs/protocol.md): give the worker a path to the data instead of the data.' },
  GPUPOOL_E_INPUT_UNFINISHED: { httpStatus: 409, exitCode: 16, remedy: 'The JSONL file\'s last line has no line end and may be unfinished (not whole JSON, or a number): if a producer is still writing it, run the same command again once it is written (it runs that line and those added after it); if the file is complete, end or fix that line.' },
  GPUPOOL_E_ITEM_FAILED: { httpStatus: 500, exitCode: 1, remedy: 'See the item errors in the output file; fix the inputs and run them again with --fresh, or in a new job.' },
  GPUPOOL_E_OUT_OF_MEMORY: { httpStatus: 507, exitCode: 1, remedy: 'The item does not fit even alone: free device memory or use a device with more.' },
  GPUPOOL_E_WORKER_CRASHED: { httpStatus: 502, exitCode: 1, remedy: 'The item crashed its worker on every attempt; read the worker log for the cause.' },
  GPUPOOL_E_BATCH_DEADLINE: { httpStatus: 504, exitCode: 1, remedy: 'Raise `batch.deadline` or find why the worker hangs (its log).' },
  GPUPOOL_E_CRASH_LOOP: { httpStatus: 503, exitCode: 6, remedy: 'The worker keeps dying right after start: read its log; fix the model or its environment. A `gpupool run` then resumes with the same command (what it wrote stays; the rest runs).' },
  GPUPOOL_E_JOURNAL_MISMATCH: { httpStatus: 409, exitCode: 10, remedy: 'The state directory holds another job, or this one with an input changed so that it cannot resume: use --fresh to start over, or another output/--state-dir.' },
  GPUPOOL_E_JOURNAL_LOCKED: { httpStatus: 409, exitCode: 10, remedy: 'Another gpupool process uses this journal: wait for it or stop it.' },
  GPUPOOL_E_JOURNAL_CORRUPT: { httpStatus: 500, exitCode: 10, remedy: 'Move the damaged journal aside and run with --fresh; the output written so far stays.' },
  GPUPOOL_E_OUTPUT: { httpStatus: 400, exitCode: 11, remedy: 'Pass -o a file that can be written (not a folder, a pipe or the input itself), and folders that can be made to --state-dir or --log-dir (a device such as -o /dev/null needs --state-dir).' },
  GPUPOOL_E_DISK_FULL: { httpStatus: 507, exitCode: 11, remedy: 'Free disk space (or raise the file-size limit, `ulimit -f`), then run the same command again: it resumes where it stopped.' },
  GPUPOOL_E_INTERRUPTED: { httpStatus: 503, exitCode: 130, remedy: 'Run the same command again to resume.' },
  GPUPOOL_E_OVERLOADED: { httpStatus: 429, exitCode: 12, remedy: 'Retry after the time given in Retry-After, or add workers.' },
  GPUPOOL_E_NOT_READY: { httpStatus: 503, exitCode: 12, remedy: 'No worker of this model is ready: wait and retry, or read the worker logs.' },
  GPUPOOL_E_DEADLINE: { httpStatus: 504, exitCode: 12, remedy: 'The request outlived its deadline: retry, or raise the deadline.' },
  GPUPOOL_E_UNAUTHORIZED: { httpStatus: 401, exitCode: 13, remedy: 'Send `Authorization: Bearer <token>` with the server\'s token.' },
  GPUPOOL_E_PATH_DENIED: { httpStatus: 403, exitCode: 13, remedy: 'Server-side paths must lie inside one of the --allow-root folders.' },
  GPUPOOL_E_NOT_FOUND: { httpStatus: 404, exitCode: 4, remedy: 'Check the name given: the job or request id and route (HTTP), or the output file or --state-dir (status).' },
  GPUPOOL_E_BAD_REQUEST: { httpStatus: 400, exitCode: 2, remedy: 'Fix the named field of the request; the OpenAPI document at /openapi.json gives every route\'s schema.' },
  GPUPOOL_E_UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, exitCode: 2, remedy: 'Send `Content-Type: application/json` (or `application/x-ndjson` for job inputs).' },
  GPUPOOL_E_SERVER_UNREACHABLE: { httpStatus: 502, exitCode: 15, remedy: 'Start `gpupool serve`, or pass the right --url (or GPUPOOL_URL).' },
  GPUPOOL_E_HTTP_STATUS: { httpStatus: 502, exitCode: 15, remedy: 'The server, or a model server or proxy in front of it, answered an HTTP error that is not one of gpupool\'s: the message gives its status and the start of its body. Check --url and -m (a `kind: http` model answers its own routes, not /infer).' },
  GPUPOOL_E_REDIS: { httpStatus: 503, exitCode: 14, remedy: 'Check the Redis URL, password and that the server is reachable.' },
  GPUPOOL_E_REPLICA_START: { httpStatus: 503, exitCode: 6, remedy: 'The model server did not answer its health path with 2xx in time: read the replica log named in the message, check `http.health` and that the server listens on the port given as {port}, or raise `start_timeout` for a slow load.' },
  GPUPOOL_E_REPLICA_FAILED: { httpStatus: 502, exitCode: 12, remedy: 'The model server dropped the request (it died or closed the connection): retry; read the replica log if it keeps happening.' },
  GPUPOOL_E_BODY_TOO_LARGE: { httpStatus: 413, exitCode: 2, remedy: 'Send a smaller request body, or start the server with a larger body limit.' },
  GPUPOOL_E_REDIS_UNREACHABLE: { httpStatus: 503, exitCode: 14, remedy: 'Start Redis, or fix the host and port in the URL (rediss:// for TLS); check that this machine can reach it (firewall, DNS).' },
  GPUPOOL_E_REDIS_AUTH: { httpStatus: 503, exitCode: 14, remedy: 'Put the right password in the URL: redis://:PASSWORD@host:6379, or redis://USER:PASSWORD@host:6379 for an ACL user.' },
  GPUPOOL_E_QUEUE_VERSION: { httpStatus: 409, exitCode: 14, remedy: 'The queues were made by an incompatible gpupool: finish their jobs with that version, or give this one another --prefix (or another Redis database, /1 in the URL).' },
  GPUPOOL_E_AGENT_LOST: { httpStatus: 502, exitCode: 1, remedy: "The agent running this item died every time (killed, out of host memory): read that agent's log, fix the cause, and run the item again in a new job." },
  GPUPOOL_E_INTERNAL: { httpStatus: 500, exitCode: 70, remedy: 'A bug in gpupool: please report it with the log.' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;
