import qrcode from "qrcode-generator";

/** `text` as a QR code drawn in SVG (no inline script or style, no image data URL needed). */
export function Qr(props: { text: string; label: string; size?: number }) {
  const qr = qrcode(0, "M");
  qr.addData(props.text);
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4;
  const cells: string[] = [];
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.isDark(r, c)) cells.push(`M${c + quiet} ${r + quiet}h1v1h-1z`);
    }
  }
  const side = n + 2 * quiet;
  return (
    <svg role="img" aria-label={props.label} data-testid="pairing-qr" viewBox={`0 0 ${side} ${side}`} width={props.size ?? 240} height={props.size ?? 240} shapeRendering="crispEdges">
      <rect width={side} height={side} fill="#fff" />
      <path d={cells.join("")} fill="#000" />
    </svg>
  );
}

/** What the QR code carries: the service address and the code, as one URI a counter can read. */
export function pairingUri(server: string, code: string): string {
  return `offline-order-pos:pair?server=${encodeURIComponent(server)}&code=${encodeURIComponent(code)}`;
}
