// A no-op worker through the TypeScript SDK: echoes its input (benchmarks of the dispatch path).
import { serve } from 'gpupool/worker';

serve({ framework: 'none', predict: (batch) => batch });
