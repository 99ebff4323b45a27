// Command vault is a thin wrapper that builds the HashiCorp Vault server/CLI
// (github.com/hashicorp/vault, v1.14.x, MPL-2.0) from Go modules, for
// certctl's integration tests. See README.md.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
