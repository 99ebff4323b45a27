module certctl.local/verify-chain-go

go 1.22
