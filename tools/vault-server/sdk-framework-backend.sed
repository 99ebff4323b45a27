# Applied by tools/vault-dev.sh to github.com/hashicorp/vault/sdk@v0.9.2's
# framework/backend.go and fed to `go build -overlay` (see README.md).
#
# sdk v0.9.2 was tagged from Vault's main branch (1.15 development) and added
# a start-up check that panics when a path defines CreateOperation without an
# ExistenceCheck. Vault v1.14.2's own (release/1.14.x) sdk does not have that
# check, and v1.14.2's system backend trips it on the enterprise-only stub
# paths ("managed-keys/..."), so `vault server -dev` panics on its first
# request. Remove the two panics, restoring the release/1.14.x behaviour.
s|^\([[:space:]]*\)panic(fmt.Sprintf("Pattern %v defines a CreateOperation but no ExistenceCheck", p.Pattern))$|\1// check removed by tools/vault-server/sdk-framework-backend.sed (not in release/1.14.x sdk)|
