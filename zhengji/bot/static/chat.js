// The web chat of zhengji: one small script of this site (the page's Content-Security-Policy allows no inline
// script and no CDN). It fills every element with id "zhengji-chat", keeps the chat id in this browser, posts
// each question to /chat/messages and shows the answer; status notices for a linked chat come from
// /chat/updates. Everything the server says is shown as text, never as HTML.
(function () {
  "use strict";

  var STORAGE_KEY = "zhengji-chat-id";
  var POLL_MS = 30000;

  function newChatId() {
    var bytes = new Uint8Array(32);
    window.crypto.getRandomValues(bytes);
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return window.btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function chatId() {
    var id = null;
    try { id = window.localStorage.getItem(STORAGE_KEY); } catch (e) { id = null; }
    if (!id || !/^[A-Za-z0-9_-]{22,64}$/.test(id)) {
      id = newChatId();
      try { window.localStorage.setItem(STORAGE_KEY, id); } catch (e) { /* private mode: this page only */ }
    }
    return id;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function post(path, body) {
    return window.fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    });
  }

  function mount(root) {
    var id = chatId();
    var box = element("div", "zj-chat");
    var log = element("div", "zj-log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    var form = element("form", "zj-form");
    var input = element("textarea", "zj-input");
    input.rows = 2;
    input.maxLength = 500;
    input.placeholder = "请输入您的问题，例如：新职业什么时候截止？";
    input.setAttribute("aria-label", "您的问题");
    input.name = "text";
    var send = element("button", "zj-send", "发送");
    send.type = "submit";
    form.appendChild(input);
    form.appendChild(send);
    box.appendChild(log);
    box.appendChild(form);
    root.appendChild(box);

    function say(text, who) {
      var message = element("div", "zj-msg zj-msg-" + who, text);
      message.setAttribute("data-from", who);
      log.appendChild(message);
      log.scrollTop = log.scrollHeight;
    }

    say("您好，我是征集受理系统的咨询助手。请问有什么可以帮您？发送“帮助”可查看我能回答的问题。", "bot");

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text || send.disabled) { return; }
      say(text, "user");
      input.value = "";
      send.disabled = true;
      post("/chat/messages", { chat: id, text: text }).then(function (data) {
        say(String(data.reply), "bot");
      }).catch(function () {
        say("网络异常，消息未能发送，请稍后重试。", "error");
      }).then(function () {
        send.disabled = false;
        input.focus();
      });
    });

    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit ? form.requestSubmit() : send.click();
      }
    });

    function poll() {
      post("/chat/updates", { chat: id }).then(function (data) {
        (data.messages || []).forEach(function (text) { say(String(text), "notice"); });
      }).catch(function () { /* the next poll tries again */ });
    }
    window.setInterval(poll, POLL_MS);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { poll(); }
    });
  }

  function start() {
    var roots = document.querySelectorAll("#zhengji-chat");
    for (var i = 0; i < roots.length; i++) { mount(roots[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
