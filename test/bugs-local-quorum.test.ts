// Local-process runs of the quorum and durability defects (ack-before-w, read-fewer-than-r, no-repair,
// ack-not-durable): strict quorum under partitions, and crashes of every node at once.
import { localBugSuite } from './helpers/bugs-local-suite.js';

localBugSuite((f) => ['ack-before-w', 'read-fewer-than-r', 'no-repair'].includes(f.fault) || (f.fault === 'ack-not-durable' && f.crashTargets === 'all'), 30);
