/* Dates and numbers in the page's language, the same conventions as the
   server's filters (web/i18n.py): Chinese 2026年11月25日, 11月25日, 周三, 24-hour
   times, 299,714, 29.97万, 87.5%; English Nov 25, 2026, Nov 25, Wed, 14:05,
   299,714, 299.7K, 87.5%. Intl is built into the browser (no download); the
   language is <html lang>. */
var zoufangFormat = (function () {
  "use strict";
  var zh = (document.documentElement.lang || "zh-CN").toLowerCase().indexOf("zh") === 0;
  var locale = zh ? "zh-CN" : "en-US";
  var fmt = {lang: zh ? "zh" : "en", locale: locale};
  var integer = new Intl.NumberFormat(locale, {maximumFractionDigits: 0});
  var decimal = new Intl.NumberFormat(locale, {maximumFractionDigits: 2});
  var percents = {};
  var dates = {
    long: new Intl.DateTimeFormat(locale, {year: "numeric", month: zh ? "long" : "short", day: "numeric"}),
    short: new Intl.DateTimeFormat(locale, {month: zh ? "long" : "short", day: "numeric"}),
    weekday: new Intl.DateTimeFormat(locale, {weekday: "short"}),
    day: new Intl.DateTimeFormat(locale, {month: zh ? "long" : "short", day: "numeric", weekday: "short"})
  };
  var time = new Intl.DateTimeFormat(locale, {hour: "2-digit", minute: "2-digit", hourCycle: "h23"});

  function blank(v) { return v === null || v === undefined || v === "" || (typeof v === "number" && isNaN(v)); }

  // "2026-11-25" is a calendar day, not UTC midnight: build it in local time
  function asDate(v) {
    if (v instanceof Date) { return v; }
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/.exec(String(v));
    if (m) { return new Date(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0)); }
    return new Date(v);
  }

  /* 299714 → "299,714" (whole numbers) or up to 2 decimals */
  fmt.number = function (n) {
    if (blank(n)) { return ""; }
    return Number.isInteger(+n) ? integer.format(+n) : decimal.format(+n);
  };
  /* large counts shortened: 299714 → "29.97万" / "299.7K" (from 100,000 up, or from `from`;
     `digits` decimals of 万, default 2; English K gets one fewer) */
  fmt.count = function (n, from, digits) {
    if (blank(n)) { return ""; }
    n = +n;
    from = from === undefined ? 100000 : from;
    digits = digits === undefined ? 2 : digits;
    if (Math.abs(n) >= from) {
      var k = Math.pow(10, digits);
      return zh ? decimal.format(Math.round(n / 10000 * k) / k) + "万"
                : decimal.format(Math.round(n / 1000 * k / 10) / (k / 10)) + "K";
    }
    return fmt.number(n);
  };
  /* 0.875 → "87.5%" (digits decimals, default 1) */
  fmt.percent = function (ratio, digits) {
    if (blank(ratio)) { return ""; }
    digits = digits === undefined ? 1 : digits;
    var f = percents[digits] || (percents[digits] = new Intl.NumberFormat(locale, {
      style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits}));
    return f.format(+ratio);
  };
  /* form: long (2026年11月25日), short (11月25日), weekday (周三), day (11月25日周三) */
  fmt.date = function (v, form) {
    if (blank(v)) { return ""; }
    return (dates[form || "long"] || dates.long).format(asDate(v)).replace(/\s+(周)/, "$1");
  };
  /* 24-hour time: "14:05" */
  fmt.time = function (v) { return blank(v) ? "" : time.format(asDate(v)); };
  fmt.datetime = function (v) { return blank(v) ? "" : fmt.date(v) + " " + fmt.time(v); };
  return fmt;
})();
