// The UI's own state: the selected product, the failure switch, and the hit-rate history.
// Persisted in sessionStorage through cache-wasm/pinia, so a reload keeps the chart.
import { defineStore } from 'pinia';

const KEEP = 90; // samples, one a second

export const useUiStore = defineStore('ui', {
  state: () => ({ selectedId: 1, simulateFailure: false, samples: [] }),
  actions: {
    select(id) {
      this.selectedId = id;
    },
    /** Records the cumulative hit rate of the memory cache and the API cache. */
    sample(memory, api) {
      const rate = (hits, misses) => (hits + misses === 0 ? null : hits / (hits + misses));
      this.samples = [
        ...this.samples.slice(-(KEEP - 1)),
        { t: Date.now(), memory: rate(memory.hits, memory.misses), api: rate(api.hits, api.misses) },
      ];
    },
  },
  cache: { enabled: true, storage: 'session', ttl: 3_600_000, paths: ['selectedId', 'samples'] },
});
