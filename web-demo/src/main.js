import { createApp } from 'vue';
import { createPinia } from 'pinia';
import { cacheVue } from 'cache-wasm/vue';
import { cachePinia } from 'cache-wasm/pinia';
import { createShop } from './shop.js';
import App from './App.vue';
import './style.css';

const shop = await createShop();
const pinia = createPinia().use(cachePinia({ caches: shop.caches }));
createApp(App).provide('shop', shop).use(cacheVue({ caches: shop.caches })).use(pinia).mount('#app');
