// One random choice from the nemesis's seeded source: the same seed draws the same faults.
export function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}
