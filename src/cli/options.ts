/** `--subject column=value`: a data subject by one of its identity columns. */
export function parseSubject(value: string): { column: string; value: string } {
  const at = value.indexOf('=');
  if (at <= 0) throw new Error('--subject takes column=value, e.g. --subject email=ada@example.com');
  return { column: value.slice(0, at), value: value.slice(at + 1) };
}
