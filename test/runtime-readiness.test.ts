// When the local and Docker runtimes count a node as ready (harness/runtime/readiness.ts).
import t from 'tap';
import { notReadyReason } from '../harness/runtime/readiness.js';

const up = (...ids: string[]) => ids.map((id) => ({ id, status: 'up' }));

t.test('every expected member must be listed up', async (t) => {
  t.equal(notReadyReason({ members: up('n1', 'n2', 'n3') }, 'n1', { expected: ['n1', 'n2', 'n3'] }), undefined);
  t.match(notReadyReason({ members: [...up('n1', 'n2'), { id: 'n3', status: 'down' }] }, 'n1', { expected: ['n1', 'n2', 'n3'] }), /n3 not listed up/);
});

t.test('a joiner must be in the cluster\'s ring, when its node reports one', async (t) => {
  const when = { expected: ['n4'], joining: true };
  t.match(notReadyReason({ members: up('n4'), ringMembers: [] }, 'n4', when), /not yet in the cluster's ring/);
  t.match(notReadyReason({ members: up('n4'), ringMembers: ['n4'] }, 'n4', when), /not yet in the cluster's ring/, 'a ring of its own is not the cluster\'s');
  t.match(notReadyReason({ members: up('n4'), ringMembers: ['n1', 'n2', 'n3'] }, 'n4', when), /not yet in the cluster's ring/);
  t.equal(notReadyReason({ members: up('n4'), ringMembers: ['n1', 'n2', 'n3', 'n4'] }, 'n4', when), undefined);
  t.equal(notReadyReason({ members: up('n4') }, 'n4', when), undefined, 'a node without ringMembers is judged by its members');
});

t.test('a settled cluster has no ring transition open, when its node reports them', async (t) => {
  const when = { expected: ['n1'], settled: true };
  t.match(notReadyReason({ members: up('n1'), ringTransition: [2, 3] }, 'n1', when), /ring transition still open \(earlier ring versions 2, 3\)/);
  t.equal(notReadyReason({ members: up('n1'), ringTransition: [] }, 'n1', when), undefined);
  t.equal(notReadyReason({ members: up('n1') }, 'n1', when), undefined, 'a node without ringTransition is judged by its members');
  t.equal(notReadyReason({ members: up('n1'), ringTransition: [2] }, 'n1', { expected: ['n1'] }), undefined, 'only when asked for');
});
