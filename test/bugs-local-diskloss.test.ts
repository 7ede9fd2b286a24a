// Local-process runs of the disk-loss defect (actor-reuse, Riak's kv679): one node process is SIGKILLed, its
// data directory emptied and the process started again with the same QL_ID; the reference node passes the
// same run.
import { localBugSuite } from './helpers/bugs-local-suite.js';

localBugSuite((f) => f.fault === 'actor-reuse', 110);
