// npm run bundle: the compiled controller (dist/, from npm run build) and the
// dependencies it reaches, in one minified file for the container image.
//
// Why: Node keeps every loaded module's source text in memory and compiles
// lazily from it. client-node's generated API is tens of MiB of source, of
// which the controller calls a handful of methods; tree-shaken and minified,
// the whole controller is under 3 MiB, the idle heap is about half as large
// (see the README's Performance section), and the image needs no node_modules.
//
// out/image/ is laid out as the image's /app: dist/main.js reads its version
// from ../package.json. Next to the bundle, THIRD-PARTY-NOTICES.txt carries the
// licence and NOTICE files of every package whose code is in it.
import { build, type Metafile } from "esbuild";
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const entry = join(root, "dist", "main.js");
const outDir = join(root, "out", "image");
const bundleFile = join(outDir, "dist", "main.js");

if (!existsSync(entry)) {
  console.error("npm run bundle needs dist/main.js: run npm run build first");
  process.exit(1);
}

const { metafile } = await build({
  entryPoints: [entry],
  outfile: bundleFile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  minify: true,
  metafile: true,
  legalComments: "none",
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: {
    js: 'import { createRequire as __ldpcCreateRequire } from "node:module"; const require = __ldpcCreateRequire(import.meta.url);',
  },
  logLevel: "warning",
});
copyFileSync(join(root, "package.json"), join(outDir, "package.json"));
// The commit `npm run build` recorded, read by main.js from beside itself.
const buildInfo = join(root, "dist", "build-info.json");
if (existsSync(buildInfo)) copyFileSync(buildInfo, join(outDir, "dist", "build-info.json"));
writeFileSync(join(outDir, "dist", "THIRD-PARTY-NOTICES.txt"), notices(metafile));
console.log(`wrote ${bundleFile} and its THIRD-PARTY-NOTICES.txt`);

/** The package folders (node_modules/name or node_modules/@scope/name) of the bundled inputs. */
function bundledPackages(meta: Metafile): string[] {
  const dirs = new Set<string>();
  for (const input of Object.keys(meta.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match?.[1]) dirs.add(match[1]);
  }
  return [...dirs].sort();
}

function notices(meta: Metafile): string {
  const sections: string[] = [];
  for (const dir of bundledPackages(meta)) {
    const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as {
      name: string;
      version: string;
      license?: string;
    };
    const files = readdirSync(join(root, dir))
      .filter((f) => /^(licen[cs]e|notice|copying)/i.test(f))
      .sort();
    const texts = files.map((f) => readFileSync(join(root, dir, f), "utf8").trim());
    sections.push(
      [
        `${pkg.name} ${pkg.version} (${pkg.license ?? "see below"})`,
        ...(texts.length > 0
          ? texts
          : [`No licence file; the package declares ${pkg.license ?? "none"}.`]),
      ].join("\n\n"),
    );
  }
  return `Packages bundled into main.js, with their licence and notice files.\n\n${sections.join(`\n\n${"-".repeat(78)}\n\n`)}\n`;
}
