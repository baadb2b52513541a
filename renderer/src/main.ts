// Renderer entry: one api client for the app's lifetime, then the shell.
import { mount } from 'svelte';
import App from './App.svelte';
import { createApiClient } from './lib/api_client.ts';
import './app.css';

// Browser mode opens with ?token=...; the server has put it in a cookie by now, so drop it
// from the address bar (and from anything the user copies or screenshots).
if (new URLSearchParams(location.search).has('token')) {
  history.replaceState(null, '', location.pathname + location.hash);
}

const target = document.getElementById('app');
if (target === null) throw new Error('index.html has no #app element');
mount(App, { target, props: { client: createApiClient(window) } });
