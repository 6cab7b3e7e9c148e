// Live execution updates for the monitor pages: the workspace's WebSocket, reconnecting with backoff,
// and a fallback that re-reads through the API every few seconds while the socket is down.

const RETRY_DELAYS = [1000, 2000, 5000, 10000];
const POLL_MS = 8000;

/**
 * Calls onMessage(message) for each {"type": "execution", …} message; while the socket is down, calls
 * poll() every few seconds instead. indicator: an element whose data-live becomes on/off.
 */
export function connectLive(config, { onMessage, poll, indicator }) {
  let attempt = 0;
  let pollTimer = null;
  let socket = null;

  const show = (live, text) => {
    if (!indicator) return;
    indicator.dataset.live = live;
    indicator.textContent = text;
  };
  const startPolling = () => {
    if (pollTimer || !poll) return;
    pollTimer = setInterval(() => {
      if (document.visibilityState === "visible") poll();
    }, POLL_MS);
  };
  const stopPolling = () => {
    clearInterval(pollTimer);
    pollTimer = null;
  };

  const open = () => {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    try {
      socket = new WebSocket(`${scheme}://${window.location.host}${config.socket}`);
    } catch {
      fallback();
      return;
    }
    socket.addEventListener("open", () => {
      attempt = 0;
      stopPolling();
      show("on", "Live");
      if (poll) poll();
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && message.type === "execution" && message.execution) onMessage(message);
    });
    socket.addEventListener("close", fallback);
  };

  function fallback() {
    show("off", "Live updates paused · refreshing every few seconds");
    startPolling();
    if (attempt < RETRY_DELAYS.length) {
      setTimeout(open, RETRY_DELAYS[attempt]);
      attempt += 1;
    }
  }

  open();
}
