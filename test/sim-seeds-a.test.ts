// Seeded campaigns of the reference node, seeds 1..250 (sim-seeds-b.test.ts runs 251..500, so CI's two parallel
// jobs share the 500). Each seed's configuration rotates over every fault kind, (N, R, W), sloppy/strict and
// workload/conflict mode (harness/sim-property.ts seedCampaign); every checker must accept every run.
import { seedRangeTest } from './helpers/sim-seeds.js';

seedRangeTest(1, 250);
