// Seeded campaigns of the reference node, seeds 251..500 (see sim-seeds-a.test.ts for 1..250).
import { seedRangeTest } from './helpers/sim-seeds.js';

seedRangeTest(251, 500);
