// A fetch that remembers what went over the wire, to check what the client really sent and
// got (a 304 is invisible in what `getCart` answers, by design).

export interface Exchange {
  method: string;
  url: string;
  requestHeaders: Headers;
  status: number;
  responseHeaders: Headers;
}

export interface RecordingFetch {
  fetch: typeof globalThis.fetch;
  exchanges: Exchange[];
  /** The exchanges since the last call of `take`. */
  take(): Exchange[];
}

export function recordingFetch(inner: typeof globalThis.fetch = globalThis.fetch): RecordingFetch {
  const exchanges: Exchange[] = [];
  let taken = 0;
  return {
    exchanges,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const requestHeaders = new Headers(request.headers);
      const response = await inner(request);
      exchanges.push({
        method: request.method,
        url: request.url,
        requestHeaders,
        status: response.status,
        responseHeaders: response.headers,
      });
      return response;
    },
    take() {
      const fresh = exchanges.slice(taken);
      taken = exchanges.length;
      return fresh;
    },
  };
}
