import { isMap, isNode, isScalar, isSeq, Node } from 'yaml';

/**
 * The node of the deepest key along `path` that exists in a parsed YAML
 * document (the key itself, not its value), so a config problem can name the
 * line of the field it is about. Shared by every YAML config file we read.
 */
export function keyNode(root: unknown, path: ReadonlyArray<PropertyKey>): Node | undefined {
  let current = root;
  let found: Node | undefined;
  for (const segment of path) {
    if (isSeq(current) && typeof segment === 'number') {
      current = current.items[segment];
      if (isNode(current)) found = current;
      continue;
    }
    if (!isMap(current)) break;
    const pair = current.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
    if (!pair) break;
    found = pair.key as Node;
    current = pair.value;
  }
  return found;
}
