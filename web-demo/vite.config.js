import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

export default defineConfig({
  plugins: [vue()],
  // The packed package is linked from ../target/npm; let the dev server read it.
  server: { fs: { allow: ['..'] } },
  build: { target: 'es2022' },
});
