// The simulator page: each action becomes one message that the server signs (and encrypts) with the account's
// keys and posts to the real webhook; the verified, decrypted reply is shown as the account's bubble.
(function () {
  "use strict";

  const log = document.getElementById("log");
  const account = document.getElementById("account");
  const text = document.getElementById("text");
  const extras = document.getElementById("extras");
  const more = document.getElementById("more");
  const sendUrl = window.location.pathname.replace(/\/$/, "") + "/send";

  function newOpenid() {
    const bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return "sim-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // One simulated citizen per browser, kept across reloads so the conversation continues.
  let openid = window.localStorage.getItem("qingsu-simulator-openid") || newOpenid();
  window.localStorage.setItem("qingsu-simulator-openid", openid);

  function bubble(kind, content) {
    const node = document.createElement("div");
    node.className = "msg " + kind;
    node.textContent = content; // text, never HTML: whatever the citizen typed is shown as typed
    log.appendChild(node);
    log.scrollTop = log.scrollHeight;
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
    openid = newOpenid();
    window.localStorage.setItem("qingsu-simulator-openid", openid);
    log.textContent = "";
    bubble("system", "新用户 " + openid);
  });

  account.addEventListener("change", () => bubble("system", "切换到 " + account.options[account.selectedIndex].text));
  bubble("system", "模拟用户 " + openid + "。点击下方菜单或直接输入文字开始。");
})();
