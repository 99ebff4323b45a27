import { Command } from 'commander';
import { COMMANDS, buildProgram } from '../../../src/cli/main';

describe('the command tree', () => {
  it.each(COMMANDS.map(([name, register]) => [name, register] as const))('the %s entry registers exactly the command of that name', (name, register) => {
    const program = new Command('certctl');
    register(program);
    expect(program.commands.map((c) => c.name())).toEqual([name]);
  });

  it('builds every command without a command name, or for one it does not know', () => {
    const all = COMMANDS.map(([name]) => name);
    for (const argv of [[], ['--help'], ['help', 'issue'], ['isue', 'server'], ['--bogus', 'x']]) {
      expect(buildProgram(['node', 'certctl', ...argv]).commands.map((c) => c.name())).toEqual(all);
    }
  });

  it('builds only the named command, skipping global options and their values', () => {
    for (const argv of [
      ['issue', 'server', '--cn', 'x'],
      ['--json', 'issue', 'server'],
      ['--ca', 'list', 'issue', 'server'],
      ['--config', 'c.yaml', '--backend', 'file', '--passphrase-file', 'p', 'issue', 'server'],
      ['--ca=list', 'issue', 'node'],
    ]) {
      expect([argv, buildProgram(['node', 'certctl', ...argv]).commands.map((c) => c.name())]).toEqual([argv, ['issue']]);
    }
  });
});
