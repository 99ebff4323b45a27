// Command verify-chain-go verifies a certificate chain with Go's crypto/x509
// (Certificate.Verify), a third path validator for certctl's tests beside
// OpenSSL and pyca/cryptography (tools/verify_chain.py). Standard library only.
//
//	verify-chain-go --ca ca.pem [--intermediate i.pem ...] --leaf leaf.pem \
//	                (--server-name NAME | --client)
//
// It takes the same arguments as verify_chain.py and prints one JSON object:
// {"ok": true, "chain_length": N} with exit 0, or {"ok": false, "error": "..."}
// with exit 1. Usage errors exit 2. Go checks name constraints of every CA in
// the chain against the leaf's DNS and IP SANs (it ignores the subject CN).
package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func load(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return certs, nil
}

func report(ok bool, chainLength int, err error) {
	out := map[string]any{"ok": ok}
	if ok {
		out["chain_length"] = chainLength
	} else {
		out["error"] = err.Error()
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
	if !ok {
		os.Exit(1)
	}
}

// addAll adds every certificate of every file to pool, or reports the failure and exits.
func addAll(pool *x509.CertPool, paths []string) {
	for _, path := range paths {
		certs, err := load(path)
		if err != nil {
			report(false, 0, err)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
}

func main() {
	var cas, intermediates files
	flag.Var(&cas, "ca", "trust anchor PEM (repeatable)")
	flag.Var(&intermediates, "intermediate", "untrusted intermediate PEM (repeatable)")
	leafPath := flag.String("leaf", "", "leaf PEM; further certificates in it are intermediates")
	serverName := flag.String("server-name", "", "verify as a TLS server certificate for this DNS name or IP")
	client := flag.Bool("client", false, "verify as a TLS client certificate")
	flag.Parse()
	if len(cas) == 0 || *leafPath == "" || (*serverName == "") == !*client {
		fmt.Fprintln(os.Stderr, "usage: verify-chain-go --ca PEM [--intermediate PEM] --leaf PEM (--server-name NAME | --client)")
		os.Exit(2)
	}

	opts := x509.VerifyOptions{Roots: x509.NewCertPool(), Intermediates: x509.NewCertPool()}
	addAll(opts.Roots, cas)
	addAll(opts.Intermediates, intermediates)
	leafs, err := load(*leafPath)
	if err != nil {
		report(false, 0, err)
	}
	for _, c := range leafs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if *client {
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		opts.DNSName = *serverName
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	chains, err := leafs[0].Verify(opts)
	if err == nil && len(chains) == 0 {
		err = errors.New("no chain")
	}
	if err != nil {
		report(false, 0, err)
	}
	report(true, len(chains[0]), nil)
}
