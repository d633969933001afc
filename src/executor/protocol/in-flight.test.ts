import { describe, expect, it } from 'vitest';
import { InFlightTable } from './in-flight.js';

describe('the table of invocations in flight', () => {
  it('gets, adds and deletes by id like a map', () => {
    const table = new InFlightTable<string>();
    expect(table.get(1)).toBeUndefined();
    table.set(1, 'a');
    table.set(2, 'b');
    expect(table.size).toBe(2);
    expect(table.get(1)).toBe('a');
    expect(table.get(2)).toBe('b');
    // an id sharing a slot with one held is not mistaken for it
    expect(table.get(1 + 64)).toBeUndefined();
    expect(table.delete(1 + 64)).toBe(false);
    expect(table.delete(1)).toBe(true);
    expect(table.delete(1)).toBe(false);
    expect(table.get(1)).toBeUndefined();
    expect(table.size).toBe(1);
  });

  it('keeps a long invocation while thousands of later ids come and go, and lists by id', () => {
    const table = new InFlightTable<number>();
    table.set(1, 1);
    for (let id = 2; id < 20_000; id++) {
      table.set(id, id);
      if (id > 40) expect(table.delete(id - 32)).toBe(true);
    }
    expect(table.get(1)).toBe(1);
    expect(table.size).toBe(1 + 32 + 7);
    const ids = table.entries().map(([id]) => id);
    expect(ids[0]).toBe(1);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids).toHaveLength(table.size);
    expect(table.find((v) => v === 19_990)).toBe(19_990);
    expect(table.find((v) => v === 9)).toBeUndefined();
  });

  it('holds more ids at once than it has slots (they collide) and finds every one', () => {
    const table = new InFlightTable<number>();
    const ids = Array.from({ length: 6000 }, (_, i) => (i * 4099 + 7) % 1_000_003);
    for (const id of ids) table.set(id, id * 2);
    expect(table.size).toBe(ids.length);
    for (const id of ids) expect(table.get(id)).toBe(id * 2);
    expect(table.entries().map(([id]) => id)).toEqual([...ids].sort((a, b) => a - b));
    for (const id of ids.slice(0, 3000)) expect(table.delete(id)).toBe(true);
    expect(table.size).toBe(3000);
    for (const id of ids.slice(0, 3000)) expect(table.get(id)).toBeUndefined();
    for (const id of ids.slice(3000)) expect(table.get(id)).toBe(id * 2);
  });

  it('finds and deletes nothing for the id that marks a free slot (-1), whatever a frame says', () => {
    const table = new InFlightTable<string>();
    table.set(1, 'a');
    expect(table.get(-1)).toBeUndefined();
    expect(table.delete(-1)).toBe(false);
    expect(table.size).toBe(1);
  });

  it('empties on clear', () => {
    const table = new InFlightTable<string>();
    for (let id = 1; id < 200; id++) table.set(id, String(id));
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get(5)).toBeUndefined();
    expect(table.entries()).toEqual([]);
    table.set(5, 'again');
    expect(table.get(5)).toBe('again');
  });
});
