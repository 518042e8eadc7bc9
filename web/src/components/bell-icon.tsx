/** A bell, drawn rather than an emoji: not every device has a font with one. */
export function BellIcon() {
  return (
    <svg
      className="bell"
      viewBox="0 0 16 16"
      width="1em"
      height="1em"
      aria-hidden="true"
      focusable="false"
    >
      <path
        fill="currentColor"
        d="M8 1.5c-2.5 0-4 2-4 4.5v3L2.5 11.5h11L12 9V6c0-2.5-1.5-4.5-4-4.5z"
      />
      <circle fill="currentColor" cx="8" cy="13.5" r="1.5" />
    </svg>
  );
}
