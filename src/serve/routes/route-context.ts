import type { JobManager } from '../job-manager.js';
import type { LiveFeed } from '../live-feed.js';
import type { OpenApiCollector } from '../openapi.js';
import type { ServeCore } from '../serve-core.js';
import type { ServeMetrics } from '../serve-metrics.js';
import type { ResolvedServeOptions } from '../serve-options.js';

/** What the routes of the server share. */
export interface RouteContext {
  readonly options: ResolvedServeOptions;
  readonly core: ServeCore;
  readonly jobs: JobManager;
  readonly metrics: ServeMetrics;
  readonly feed: LiveFeed;
  readonly openapi: OpenApiCollector;
}
