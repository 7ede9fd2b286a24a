import t from 'tap';
t.test('toolchain runs TypeScript tests', async (t) => {
  const x: number = 1 + 1;
  t.equal(x, 2);
});
