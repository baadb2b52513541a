// Typed contexts of the shell. Views under App read the api client with useApi() instead of
// receiving it through every component's props.
import { createContext } from 'svelte';
import type { ApiClient } from './api_client.ts';

export const [useApi, setApiContext] = createContext<ApiClient>();
