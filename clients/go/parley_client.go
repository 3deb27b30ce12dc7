// A small Go client of `parley serve` (parley.api.v1.ParleyService), built on
// the code `buf generate` writes with Debian's protoc-gen-go and
// protoc-gen-go-grpc (import path parley/gen/go/..., the protos' go_package).
//
//	parley_client SOCKET TOKEN_FILE [RATCHET_MESSAGE_HEX]
//
// Calls GetAccount and prints the account; then, if given, decodes a
// parley.v1.RatchetMessage (for example one from test-vectors/wire.json) and
// prints its fields, its RatchetHeader and X3DHHeader included. The output
// is the C++ client's, line for line.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	apiv1 "parley/gen/go/parley/api/v1"
	parleyv1 "parley/gen/go/parley/v1"
)

func fail(code int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}

func printRatchetMessage(text string) {
	raw, err := hex.DecodeString(text)
	message := &parleyv1.RatchetMessage{}
	if err != nil || proto.Unmarshal(raw, message) != nil {
		fail(1, "not a RatchetMessage")
	}
	header := &parleyv1.RatchetHeader{}
	if proto.Unmarshal(message.GetHeader(), header) != nil {
		fail(1, "the header does not decode")
	}
	fmt.Printf("ratchet_message.version %d\n", header.GetVersion())
	fmt.Printf("ratchet_message.ratchet_key %x\n", header.GetRatchetKey())
	fmt.Printf("ratchet_message.previous_chain_length %d\n", header.GetPreviousChainLength())
	fmt.Printf("ratchet_message.message_number %d\n", header.GetMessageNumber())
	fmt.Printf("ratchet_message.ciphertext_bytes %d\n", len(message.GetCiphertext()))
	fmt.Printf("ratchet_message.mac %x\n", message.GetMac())
	if len(message.GetX3DhHeader()) > 0 {
		x3dh := &parleyv1.X3DHHeader{}
		if proto.Unmarshal(message.GetX3DhHeader(), x3dh) != nil {
			fail(1, "the X3DH header does not decode")
		}
		fmt.Printf("x3dh.ephemeral_key %x\n", x3dh.GetEphemeralKey())
		fmt.Printf("x3dh.signed_prekey_id %d\n", x3dh.GetSignedPrekeyId())
		fmt.Printf("x3dh.initiator_signing_key %x\n", x3dh.GetInitiatorIdentity().GetSigningKey())
	}
}

func main() {
	if len(os.Args) < 3 {
		fail(2, "usage: parley_client SOCKET TOKEN_FILE [RATCHET_MESSAGE_HEX]")
	}
	file, err := os.Open(os.Args[2])
	if err != nil {
		fail(2, "%v", err)
	}
	scanner := bufio.NewScanner(file)
	scanner.Scan()
	token := scanner.Text()
	file.Close()
	if token == "" {
		fail(2, "no token in %s", os.Args[2])
	}
	socket := os.Args[1]
	conn, err := grpc.Dial("unix:"+socket, grpc.WithInsecure(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", socket)
		}))
	if err != nil {
		fail(1, "dial: %v", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	account, err := apiv1.NewParleyServiceClient(conn).GetAccount(ctx, &apiv1.GetAccountRequest{})
	if err != nil {
		fail(1, "GetAccount: %v", err)
	}
	fmt.Printf("account.fingerprint %s\n", account.GetFingerprint())
	fmt.Printf("account.installation_id %x\n", account.GetInstallationId())
	if len(os.Args) > 3 {
		printRatchetMessage(os.Args[3])
	}
}
