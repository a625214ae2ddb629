// The simulator page: each action becomes one message that the server signs (and encrypts) with the account's
// keys and posts to the real webhook; the verified, decrypted reply is shown as the account's bubble. The template
// and customer-service messages the platform sends the citizen (recorded by the demo's fake WeChat) appear as cards.
// The conversation of each account and citizen is kept in this browser, so a reload continues it.
(function () {
  "use strict";

  const log = document.getElementById("log");
  const account = document.getElementById("account");
  const citizen = document.getElementById("citizen");
  const text = document.getElementById("text");
  const extras = document.getElementById("extras");
  const more = document.getElementById("more");
  const base = window.location.pathname.replace(/\/$/, "");
  const sendUrl = base + "/send";
  const messagesUrl = base + "/messages";
  const POLL_MS = 3000;
  const KEPT = 300; // bubbles kept per conversation

  function newOpenid() {
    const bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return "sim-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // One new simulated citizen per browser, kept across reloads so the conversation continues.
  let ownOpenid = window.localStorage.getItem("qingsu-simulator-openid") || newOpenid();
  window.localStorage.setItem("qingsu-simulator-openid", ownOpenid);
  // The account and the citizen last chosen in this browser.
  const saved = JSON.parse(window.localStorage.getItem("qingsu-simulator-chosen") || "{}");
  if (saved.account && account.querySelector('option[value="' + saved.account + '"]')) account.value = saved.account;
  if (saved.citizen && citizen.querySelector('option[value="' + saved.citizen + '"]')) citizen.value = saved.citizen;
  let openid = citizen.value || ownOpenid;

  function choose() {
    window.localStorage.setItem(
      "qingsu-simulator-chosen",
      JSON.stringify({ account: account.value, citizen: citizen.value })
    );
  }

  function historyKey() {
    return "qingsu-simulator-log:" + account.value + ":" + openid;
  }

  function history() {
    try {
      return JSON.parse(window.localStorage.getItem(historyKey()) || "{}");
    } catch (error) {
      return {};
    }
  }

  function remember(entry) {
    const kept = history();
    kept.entries = (kept.entries || []).concat([entry]).slice(-KEPT);
    if (entry.id) kept.lastId = Math.max(kept.lastId || 0, entry.id);
    window.localStorage.setItem(historyKey(), JSON.stringify(kept));
  }

  function show(entry) {
    const node = document.createElement("div");
    node.className = "msg " + entry.kind;
    if (entry.kind === "card") {
      // A template message as WeChat shows it: its title, then each keyword's name and value.
      const title = document.createElement("strong");
      title.textContent = entry.title;
      node.appendChild(title);
      const list = document.createElement("dl");
      for (const [label, value] of entry.lines) {
        const dt = document.createElement("dt");
        dt.textContent = label;
        const dd = document.createElement("dd");
        dd.textContent = value;
        list.append(dt, dd);
      }
      node.appendChild(list);
      if (entry.url) {
        const link = document.createElement("a");
        link.href = entry.url;
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = "详情";
        node.appendChild(link);
      }
    } else {
      node.textContent = entry.content; // text, never HTML: whatever the citizen typed is shown as typed
    }
    log.appendChild(node);
    log.scrollTop = log.scrollHeight;
  }

  function bubble(kind, content) {
    const entry = { kind: kind, content: content };
    show(entry);
    if (kind !== "system") remember(entry);
  }

  function restore() {
    log.textContent = "";
    for (const entry of history().entries || []) show(entry);
  }

  async function poll() {
    const after = history().lastId || 0;
    const query = new URLSearchParams({ district: account.value, openid: openid, after: String(after) });
    try {
      const response = await fetch(messagesUrl + "?" + query.toString());
      if (!response.ok) return;
      const body = await response.json();
      for (const message of body.messages || []) {
        const entry =
          message.kind === "template"
            ? { kind: "card", id: message.id, title: message.title, lines: message.lines, url: message.url }
            : { kind: "bot", id: message.id, content: message.lines.map((line) => line[1]).join("\n") };
        show(entry);
        remember(entry);
      }
    } catch (error) {
      // The next poll tries again.
    }
  }

  async function send(kind, fields, shown) {
    if (shown) bubble("me", shown);
    let response;
    try {
      response = await fetch(sendUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ district: account.value, openid: openid, kind: kind, fields: fields }),
      });
    } catch (error) {
      bubble("error", "网络错误：" + error);
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      bubble("error", body.error || "请求失败（" + response.status + "）");
    } else if (body.reply) {
      bubble("bot", body.reply);
    } else {
      bubble("system", "（公众号没有回复）");
    }
  }

  document.getElementById("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const content = text.value;
    if (!content.trim()) return;
    text.value = "";
    send("text", { Content: content }, content);
  });

  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      document.getElementById("composer").requestSubmit();
    }
  });

  more.addEventListener("click", () => {
    extras.hidden = !extras.hidden;
    more.setAttribute("aria-expanded", String(!extras.hidden));
  });

  document.querySelectorAll(".menu button").forEach((button) => {
    button.addEventListener("click", () => send("click", { EventKey: button.dataset.key }, "〔菜单〕" + button.textContent));
  });

  extras.addEventListener("click", (event) => {
    const choice = event.target.dataset && event.target.dataset.extra;
    if (!choice) return;
    if (choice === "location") {
      const label = window.prompt("位置名称（地图上显示的地址）", "山东省青岛市市南区香港中路10号");
      if (label === null) return;
      const where = window.prompt("纬度,经度", "36.0627,120.3847");
      if (where === null) return;
      const [lat, lng] = where.split(",").map((part) => part.trim());
      send("location", { Location_X: lat, Location_Y: lng, Scale: "15", Label: label }, "〔位置〕" + label);
    } else if (choice === "image") {
      const url = "https://example.invalid/simulated-" + Date.now() + ".jpg";
      send("image", { MediaId: "simulated-" + Date.now(), PicUrl: url }, "〔图片〕");
    } else if (choice === "voice") {
      const words = window.prompt("语音识别出的文字", "");
      if (words === null) return;
      send("voice", { MediaId: "simulated-voice", Format: "amr", Recognition: words }, "〔语音〕" + words);
    } else if (choice === "voice-silent") {
      send("voice", { MediaId: "simulated-voice", Format: "amr" }, "〔语音，未识别〕");
    } else if (choice === "subscribe") {
      send("subscribe", {}, "〔关注公众号〕");
    }
  });

  document.getElementById("new-citizen").addEventListener("click", () => {
    ownOpenid = newOpenid();
    window.localStorage.setItem("qingsu-simulator-openid", ownOpenid);
    citizen.value = "";
    openid = ownOpenid;
    choose();
    restore();
    bubble("system", "新用户 " + openid);
  });

  citizen.addEventListener("change", () => {
    openid = citizen.value || ownOpenid;
    const chosen = citizen.options[citizen.selectedIndex];
    // A demo citizen belongs to one district's account: follow it.
    if (chosen.dataset.district && account.querySelector('option[value="' + chosen.dataset.district + '"]')) {
      account.value = chosen.dataset.district;
    }
    choose();
    restore();
    bubble("system", "以 " + openid + " 的身份发消息");
    poll();
  });

  account.addEventListener("change", () => {
    choose();
    restore();
    bubble("system", "切换到 " + account.options[account.selectedIndex].text);
    poll();
  });

  restore();
  bubble("system", "模拟用户 " + openid + "。点击下方菜单或直接输入文字开始。");
  poll();
  window.setInterval(poll, POLL_MS);
})();
