// Hearth's meeting finder: shows every <time datetime> in the reader's zone
// (the browser's, or the one typed in the zone field). The page is whole
// without this script: the server wrote the same times in the zone it names.
(function () {
    "use strict";
    var field = document.getElementById("f-zone");
    if (!field || typeof Intl === "undefined") {
        return;
    }
    var params = new URLSearchParams(window.location.search);

    function known(zone) {
        try {
            new Intl.DateTimeFormat("en-GB", { timeZone: zone });
            return true;
        } catch (e) {
            return false;
        }
    }

    // The same words as the server's "%a %-d %b, %H:%M".
    function show(zone) {
        var format = new Intl.DateTimeFormat("en-GB", {
            timeZone: zone,
            weekday: "short",
            day: "numeric",
            month: "short",
            hour: "2-digit",
            minute: "2-digit",
            hourCycle: "h23"
        });
        document.querySelectorAll("time[datetime]").forEach(function (el) {
            var parts = {};
            format.formatToParts(new Date(el.getAttribute("datetime"))).forEach(function (p) {
                parts[p.type] = p.value;
            });
            el.textContent = parts.weekday + " " + parts.day + " " + parts.month + ", " + parts.hour + ":" + parts.minute;
        });
        document.querySelectorAll("[data-zone-name]").forEach(function (el) {
            el.textContent = zone;
        });
    }

    if (!params.get("zone")) {
        var mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
        if (mine && known(mine) && mine !== field.value) {
            field.value = mine;
            // A day or time filter means the reader's own day and time: ask
            // the server again in their zone rather than show another's.
            if (params.get("day") || params.get("time")) {
                params.set("zone", mine);
                window.location.replace("?" + params.toString());
                return;
            }
        }
    }
    if (known(field.value)) {
        show(field.value);
    }
    field.addEventListener("change", function () {
        if (known(field.value)) {
            show(field.value);
        }
    });
})();
