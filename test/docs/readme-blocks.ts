/*
 * What the README test needs: the TypeScript blocks of README.md, and a consumer project per block
 * made from `npm pack`, compiled with the TypeScript API.
 *
 * A block is compiled whole unless a marker on the line before its fence says otherwise (markers
 * are HTML comments, invisible on GitHub and npm):
 *   <!-- ts-check: NAME -->                     names a whole block
 *   <!-- ts-check: NAME, continues OTHER -->    compiled as OTHER's code followed by this one
 *   <!-- ts-check: fragment of OTHER -->        not compiled; must appear, line for line, in OTHER
 *   <!-- ts-check: fragment; REASON -->         not compiled, for the reason given (say where it is)
 * A block names the packages it needs in `// npm install ...` comment lines; its consumer project
 * has those packages (and what npm would install with them), nothing else, so a missing
 * `@types/*` package shows up as the compile error a user would get.
 */
import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import ts from 'typescript'

/** One fenced TypeScript block of the README. */
export interface ReadmeBlock {
  /** The marker's name, or `line-N` for an unmarked block. */
  readonly name: string
  /** 1-based README line of the block's first code line. */
  readonly line: number
  readonly code: string
  /** The heading the block sits under. */
  readonly heading: string
  readonly continues?: string
  readonly fragmentOf?: string
  /** Why a fragment that is part of no other block is not compiled. */
  readonly fragmentReason?: string
}

/** A block ready to compile: its code with the code of the blocks it continues before it. */
export interface CompileUnit {
  readonly name: string
  /** README line of the block's own first code line. */
  readonly line: number
  readonly heading: string
  readonly code: string
  /** README line of each line of `code`. */
  readonly readmeLines: readonly number[]
  /** Package names from the `// npm install` lines (dev dependencies included). */
  readonly packages: readonly string[]
}

const FENCE = /^```(\w*)\s*$/
const MARKER = /^<!--\s*ts-check:\s*(.+?)\s*-->$/
const INSTALL = /^\s*\/\/\s*npm (?:install|i|add)\s+(.+)$/
/** Command-line tools a block may name for the user; nothing imports them. */
const TOOLS = new Set(['typescript', 'tsx'])

/** Parse the TypeScript blocks (```ts / ```typescript) of a markdown text. */
export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n')
  const blocks: ReadmeBlock[] = []
  let heading = ''
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? ''
    if (/^#{1,6} /.test(text)) heading = text.replace(/^#+ /, '')
    const fence = FENCE.exec(text)
    if (fence === null) continue
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l))
    if (end === -1) throw new Error(`README.md:${i + 1}: code fence is never closed`)
    const lang = fence[1] ?? ''
    if (lang === 'ts' || lang === 'typescript') {
      const marker = MARKER.exec((lines[i - 1] ?? '').trim())
      blocks.push({
        ...parseMarker(marker?.[1], i + 2),
        line: i + 2,
        code: lines.slice(i + 1, end).join('\n'),
        heading,
      })
    }
    i = end
  }
  return blocks
}

function parseMarker(
  text: string | undefined,
  line: number,
): Pick<ReadmeBlock, 'name' | 'continues' | 'fragmentOf' | 'fragmentReason'> {
  if (text === undefined) return { name: `line-${line}` }
  const fragment = /^fragment of ([\w-]+)$/.exec(text)
  if (fragment?.[1]) return { name: `line-${line}`, fragmentOf: fragment[1] }
  const loose = /^fragment;\s*(\S.*)$/.exec(text)
  if (loose?.[1]) return { name: `line-${line}`, fragmentReason: loose[1] }
  const named = /^([\w-]+)(?:,\s*continues ([\w-]+))?$/.exec(text)
  if (named?.[1] === undefined)
    throw new Error(`README.md:${line - 1}: cannot read the marker "${text}"`)
  return named[2] === undefined ? { name: named[1] } : { name: named[1], continues: named[2] }
}

/** Every block that is compiled, with the blocks it continues prepended. */
export function compileUnits(blocks: readonly ReadmeBlock[]): CompileUnit[] {
  const byName = new Map(blocks.map((b) => [b.name, b]))
  return blocks
    .filter((block) => block.fragmentOf === undefined && block.fragmentReason === undefined)
    .map((block) => {
      const chain: ReadmeBlock[] = []
      for (let b: ReadmeBlock | undefined = block; b !== undefined; ) {
        if (chain.includes(b)) throw new Error(`README block ${block.name}: continues in a cycle`)
        chain.unshift(b)
        const next: string | undefined = b.continues
        b = next === undefined ? undefined : byName.get(next)
        if (next !== undefined && b === undefined)
          throw new Error(`README block ${block.name}: continues "${next}", which is not a block`)
      }
      const code = chain.map((b) => b.code).join('\n')
      const readmeLines = chain.flatMap((b) => b.code.split('\n').map((_, k) => b.line + k))
      return {
        name: block.name,
        line: block.line,
        heading: block.heading,
        code,
        readmeLines,
        packages: installedPackages(code),
      }
    })
}

/** Package names from `// npm install a b -D c` comment lines (flags and versions dropped). */
export function installedPackages(code: string): string[] {
  const names = new Set<string>()
  for (const line of code.split('\n')) {
    const match = INSTALL.exec(line)
    if (match?.[1] === undefined) continue
    for (const word of match[1].split(/\s+/)) {
      if (word === '' || word.startsWith('-') || word === '&&' || word === 'npm') continue
      if (['install', 'i', 'add'].includes(word)) continue
      names.add(word.replace(/(?<=.)@.*$/, ''))
    }
  }
  return [...names].sort()
}

/** Where the packed package and the consumer projects live. */
export interface Consumer {
  readonly dir: string
  /** The unpacked tarball (`package/` of `npm pack`). */
  readonly packageDir: string
  /** Make the project for one unit: package.json, tsconfig.json, index.ts, node_modules. */
  project(unit: CompileUnit): string
}

/**
 * `npm pack` the repository (dist/ must be built) into a fresh temporary folder, and return a
 * factory of consumer projects that install the tarball.
 */
export function packConsumer(root: string): Consumer {
  const dir = mkdtempSync(join(tmpdir(), 'typed-session-readme-'))
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ) as [{ filename: string }]
  const packageDir = join(dir, 'package')
  execFileSync('tar', ['-xzf', join(dir, packed.filename), '-C', dir])
  const rootModules = join(root, 'node_modules')
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as Manifest
  return {
    dir,
    packageDir,
    project(unit) {
      const project = join(dir, unit.name)
      const modules = join(project, 'node_modules')
      mkdirSync(modules, { recursive: true })
      // The tarball as npm would install it: copied (its own imports resolve from this project).
      execFileSync('cp', ['-R', packageDir, join(modules, 'typed-session')])
      const others = unit.packages.filter((name) => name !== 'typed-session' && !TOOLS.has(name))
      const missing = others.filter((name) => !existsSync(join(rootModules, name, 'package.json')))
      if (missing.length > 0) {
        throw new Error(
          `README block ${unit.name} installs ${missing.join(', ')}, which this repository does not have: add it to devDependencies`,
        )
      }
      const roots = unit.packages.includes('typed-session')
        ? [...others, ...dependenciesOf(manifest)]
        : others
      for (const name of installClosure(roots, rootModules)) {
        mkdirSync(dirname(join(modules, name)), { recursive: true })
        symlinkSync(join(rootModules, name), join(modules, name), 'dir')
      }
      const types = unit.packages.filter((n) => n.startsWith('@types/')).map((n) => n.slice(7))
      writeFileSync(
        join(project, 'package.json'),
        `${JSON.stringify({ name: `readme-${unit.name}`, private: true, type: 'module' }, null, 2)}\n`,
      )
      writeFileSync(
        join(project, 'tsconfig.json'),
        `${JSON.stringify({ compilerOptions: { ...CONSUMER_OPTIONS, types } }, null, 2)}\n`,
      )
      writeFileSync(join(project, 'index.ts'), `${unit.code}\n`)
      return project
    },
  }
}

/**
 * A strict user project: what `tsc --init` turns on plus the strictness flags careful teams add.
 * `skipLibCheck` is on, as in most projects: checking the package's .d.ts with it off is the job of
 * test/types and tsd.
 */
const CONSUMER_OPTIONS = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  verbatimModuleSyntax: true,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
}

interface Manifest {
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>
}

/** What npm installs with a package: its dependencies and its required peers. */
function dependenciesOf(manifest: Manifest): string[] {
  const optional = manifest.peerDependenciesMeta ?? {}
  const peers = Object.keys(manifest.peerDependencies ?? {}).filter((n) => !optional[n]?.optional)
  return [...Object.keys(manifest.dependencies ?? {}), ...peers]
}

/** `names` and everything npm would hoist beside them, found in the repository's node_modules. */
function installClosure(names: readonly string[], rootModules: string): string[] {
  const found = new Set<string>()
  const queue = [...names]
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (found.has(name)) continue
    const manifestPath = join(rootModules, name, 'package.json')
    // Not hoisted here: npm nested it inside the package that needs it, which comes along.
    if (!existsSync(manifestPath)) continue
    found.add(name)
    queue.push(...dependenciesOf(JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest))
  }
  return [...found]
}

/**
 * Compiles consumer projects, parsing each shared library file once: the projects link the same
 * node_modules, so only their own files differ (TypeScript's language service shares source files
 * between programs the same way).
 */
export class BlockCompiler {
  readonly #shared = new Map<string, ts.SourceFile | undefined>()
  readonly #sharedPrefix: string

  constructor(rootModules: string) {
    this.#sharedPrefix = `${rootModules}/`
  }

  /** Diagnostics of the project in `dir`, as tsc prints them (no color). */
  compile(dir: string): readonly ts.Diagnostic[] {
    const configPath = join(dir, 'tsconfig.json')
    const config = ts.getParsedCommandLineOfConfigFile(configPath, undefined, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
      },
    })
    if (config === undefined) throw new Error(`cannot read ${configPath}`)
    const host = ts.createCompilerHost(config.options)
    const read = host.getSourceFile.bind(host)
    host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
      if (!fileName.startsWith(this.#sharedPrefix))
        return read(fileName, languageVersion, onError, shouldCreate)
      const format = typeof languageVersion === 'object' ? languageVersion.impliedNodeFormat : ''
      const key = `${fileName}\0${format}`
      if (!this.#shared.has(key))
        this.#shared.set(key, read(fileName, languageVersion, onError, shouldCreate))
      return this.#shared.get(key)
    }
    const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host })
    return [...config.errors, ...ts.getPreEmitDiagnostics(program)]
  }
}

/** Diagnostics as `README.md:LINE (index.ts:L:C): error TSnnnn: message`, one per line. */
export function formatDiagnostics(
  diagnostics: readonly ts.Diagnostic[],
  unit: CompileUnit,
  projectDir: string,
): string {
  return diagnostics
    .map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n')
      if (d.file === undefined || d.start === undefined) return `error TS${d.code}: ${message}`
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start)
      const inBlock = d.file.fileName === join(projectDir, 'index.ts')
      const where = inBlock
        ? `README.md:${unit.readmeLines[line] ?? '?'} (index.ts:${line + 1}:${character + 1})`
        : `${d.file.fileName}:${line + 1}:${character + 1}`
      return `${where}: error TS${d.code}: ${message}`
    })
    .join('\n')
}
