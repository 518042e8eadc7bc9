"use client";

import { useId, useMemo, useState } from "react";

/**
 * The user's time zone, from their settings: all-day due dates and floating times are read in
 * it, and every date is shown in it. Offers this device's zone when it is another.
 */
export function TimeZoneControl({
  timeZone,
  onChange,
}: {
  timeZone: string;
  onChange: (timeZone: string) => Promise<void>;
}) {
  const id = useId();
  const [saving, setSaving] = useState(false);
  const choices = useMemo(() => zoneChoices(timeZone), [timeZone]);
  const deviceZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  async function choose(zone: string) {
    setSaving(true);
    await onChange(zone);
    setSaving(false);
  }

  return (
    <div className="time-zone">
      <label htmlFor={id}>Time zone</label>
      <select
        id={id}
        value={timeZone}
        disabled={saving}
        onChange={(event) => void choose(event.target.value)}
      >
        {choices.map((zone) => (
          <option key={zone} value={zone}>
            {zone}
          </option>
        ))}
      </select>
      {deviceZone !== timeZone && (
        <button type="button" disabled={saving} onClick={() => void choose(deviceZone)}>
          Use this device&apos;s zone ({deviceZone})
        </button>
      )}
    </div>
  );
}

/**
 * The zones this browser knows, with UTC (the settings' default, which some browsers leave out)
 * and the current one (set elsewhere, perhaps a name this browser does not list).
 */
function zoneChoices(current: string): string[] {
  return [...new Set([...Intl.supportedValuesOf("timeZone"), "UTC", current])].sort();
}
