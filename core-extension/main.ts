// Placeholder until this service lands (see the open issues).
export async function run(_argv: string[]): Promise<number> {
  throw new Error('not implemented yet');
}
