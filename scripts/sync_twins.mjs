// Sync twins: a build-time transform of main/sim that gives every simulated-thread function a
// plain-function twin, used while one thread runs alone (main/sim/proc.ts, "Stretches in place").
//
// Why. A simulated thread is a chain of generators (proc.ts): each `yield*` level is a generator
// object and a resume, and a 4K fault is about a dozen levels. When no other thread is alive the
// scheduler always picks the same thread again, so the generators never need to suspend, and a
// plain call chain does the same work without them. The twin is not written by hand: it is the
// same source with each `yield` rewritten, so the two cannot drift apart.
//
// What it writes, appended after the module's own code (the original lines keep their numbers):
//   function* f(a) {...}            ->  f.sync = function f$sync(a) {...}
//     `yield* g(x)`                 ->  (g.sync !== undefined ? g.sync(x) : $driveSync(g(x)))
//     `yield* <anything else>`      ->  $driveSync(<it>)            (runs that Proc in place)
//     `yield v`                     ->  $yieldSync(v)               (the step boundary, in place)
//   function f(a): Proc<T> {...}    ->  f.sync = ..., each `return E` as `return <E as yield* E>`
//                                      (a dispatcher: a plain function returning a Proc)
//   { key: (a) => g(x) }            ->  the arrow gets a `sync` twin the same way (design hooks)
// $yieldSync and $driveSync (proc.ts) throw RUN_OVER when the run ends at a step boundary; the
// stretch's entry catches it and suspends the thread for good, as a generator would have been.
// Because a stretch ends by throwing, a generator or dispatcher with a `try` statement is refused
// (its finally/catch would run where the generator version never resumes). A function whose doc
// comment says `@noSyncTwin` is left alone.
import ts from 'typescript';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSyncTwinSource } from './sync_twins_scope.mjs';

export { isSyncTwinSource };

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const PROC_FILE = join(ROOT, 'main', 'sim', 'proc.ts');

/** `source` with the sync twins of its Proc functions appended; `source` itself when it has none. */
export function addSyncTwins(source, file) {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const twins = [];
  for (const stmt of sf.statements) {
    if (ts.isFunctionDeclaration(stmt) && stmt.body !== undefined && stmt.name !== undefined && !hasNoSyncTwinTag(stmt)) {
      if (stmt.asteriskToken !== undefined) twins.push(functionTwin(sf, stmt, 'generator'));
      else if (stmt.type !== undefined && /^Proc\b/.test(stmt.type.getText(sf))) twins.push(functionTwin(sf, stmt, 'dispatcher'));
    }
  }
  const hooks = [];
  collectHookArrows(sf, sf, hooks);
  if (twins.length === 0 && hooks.length === 0) return source;
  let out = source;
  // Hook arrows are rewritten in place, from the last, so earlier offsets stay valid.
  for (const arrow of hooks.reverse()) {
    const text = source.slice(arrow.getStart(sf), arrow.end);
    const twin = `(${parametersText(sf, arrow)}) => ${syncCall(sf, arrow.body)}`;
    out = `${out.slice(0, arrow.getStart(sf))}$withSyncTwin(${text}, ${twin})${out.slice(arrow.end)}`;
  }
  // proc.ts defines the helpers; every other module imports them (an import may come last).
  const helpers = relative(file, PROC_FILE) === ''
    ? 'const $driveSync = driveSync, $yieldSync = yieldSync, $withSyncTwin = withSyncTwin;\n'
    : `import { driveSync as $driveSync, yieldSync as $yieldSync, withSyncTwin as $withSyncTwin } from '${procImportPath(file)}';\n`;
  return `${out}\n// ---- sync twins (scripts/sync_twins.mjs) ----\n${helpers}${twins.join('\n')}\n`;
}

/** `@noSyncTwin` in a function's doc comment: it gets no twin (proc.ts's stretch entry itself). */
function hasNoSyncTwinTag(fn) {
  return ts.getJSDocTags(fn).some((tag) => tag.tagName.text === 'noSyncTwin');
}

/** The import specifier of proc.ts from `file`. */
function procImportPath(file) {
  let rel = relative(dirname(file), PROC_FILE).split(sep).join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  return rel;
}

function parametersText(sf, fn) {
  return sf.text.slice(fn.parameters.pos, fn.parameters.end);
}

function functionTwin(sf, fn, kind) {
  const name = fn.name.text;
  refuseTry(sf, fn.body, name);
  const typeParameters = fn.typeParameters === undefined ? '' : `<${sf.text.slice(fn.typeParameters.pos, fn.typeParameters.end)}>`;
  const body = rewrite(sf, fn.body, kind === 'dispatcher');
  return `${name}.sync = function ${name}$sync${typeParameters}(${parametersText(sf, fn)}) ${body};`;
}

/** Throws if `body` (not counting nested functions) has a try statement. */
function refuseTry(sf, body, name) {
  ts.forEachChild(body, (child) => {
    if (ts.isTryStatement(child)) {
      const { line } = sf.getLineAndCharacterOfPosition(child.getStart(sf));
      throw new Error(`sync twins: ${sf.fileName}:${line + 1}: ${name} has a try statement; a stretch in place ends by throwing RUN_OVER, which would run it (see scripts/sync_twins.mjs)`);
    }
    if (!isFunctionLike(child)) refuseTry(sf, child, name);
  });
}

function isFunctionLike(node) {
  return ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) || ts.isMethodDeclaration(node);
}

/**
 * The text of `node` with every yield rewritten for a twin; with `returns`, also every return
 * of the function itself (not of nested functions) as a sync call of its Proc.
 */
function rewrite(sf, node, returns) {
  if (ts.isYieldExpression(node)) {
    if (node.asteriskToken !== undefined) return syncCall(sf, node.expression);
    return `$yieldSync(${node.expression === undefined ? 'undefined' : rewrite(sf, node.expression, false)})`;
  }
  if (returns && ts.isReturnStatement(node) && node.expression !== undefined) return `return ${syncCall(sf, node.expression)};`;
  const nested = isFunctionLike(node);
  let out = '';
  let pos = node.getStart(sf);
  ts.forEachChild(node, (child) => {
    const start = child.getStart(sf);
    out += sf.text.slice(pos, start) + rewrite(sf, child, returns && !nested);
    pos = child.end;
  });
  return out + sf.text.slice(pos, node.end);
}

/** `expr`, a Proc, run to its end in place: through the callee's twin when it has one. */
function syncCall(sf, expr) {
  while (ts.isParenthesizedExpression(expr)) expr = expr.expression;
  if (ts.isConditionalExpression(expr)) {
    return `(${rewrite(sf, expr.condition, false)} ? ${syncCall(sf, expr.whenTrue)} : ${syncCall(sf, expr.whenFalse)})`;
  }
  if (ts.isCallExpression(expr) && ts.isIdentifier(expr.expression)) {
    const callee = expr.expression.text;
    const args = expr.arguments.map((a) => rewrite(sf, a, false)).join(', ');
    return `(${callee}.sync !== undefined ? ${callee}.sync(${args}) : $driveSync(${callee}(${args})))`;
  }
  return `$driveSync(${rewrite(sf, expr, false)})`;
}

/**
 * Arrows that are a property's value in an object literal and whose body is a call: the shape of
 * a design's hook table (`set_external_spte: (t, gfn, level, spte) => tdx_sept_set_private_spte(...)`).
 * The twin is only ever called where the arrow's result is run as a Proc, so giving one to an
 * arrow that returns something else is harmless.
 */
function collectHookArrows(sf, node, out) {
  if (ts.isPropertyAssignment(node) && ts.isArrowFunction(node.initializer) && ts.isCallExpression(node.initializer.body) && ts.isObjectLiteralExpression(node.parent)) {
    out.push(node.initializer);
    return;
  }
  ts.forEachChild(node, (child) => collectHookArrows(sf, child, out));
}

/** The transform as a Vite plugin (electron-vite's main build, vitest, the engine bench): before TypeScript is stripped. */
export function syncTwinsVitePlugin() {
  return {
    name: 'septwb-sync-twins',
    enforce: 'pre',
    transform(code, id) {
      const file = id.split('?')[0];
      if (!isSyncTwinSource(file)) return null;
      const out = addSyncTwins(code, file);
      return out === code ? null : { code: out, map: null };
    },
  };
}
