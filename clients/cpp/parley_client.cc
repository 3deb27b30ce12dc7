// A small C++ client of `parley serve` (parley.api.v1.ParleyService), built
// on code that `make clients` generates from proto/ with Debian's protoc and
// grpc_cpp_plugin.
//
//   parley_client SOCKET TOKEN_FILE [RATCHET_MESSAGE_HEX]
//
// Calls GetAccount and prints the account; then, if given, decodes a
// parley.v1.RatchetMessage (for example one from test-vectors/wire.json) and
// prints its fields, its RatchetHeader and X3DHHeader included.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <grpcpp/grpcpp.h>

#include "parley/api/v1/api.grpc.pb.h"
#include "parley/v1/wire.pb.h"

namespace {

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

bool Unhex(const std::string& hex, std::string* out) {
  if (hex.size() % 2) return false;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int value = 0;
    for (int j = 0; j < 2; ++j) {
      char c = hex[i + j];
      int d = (c >= '0' && c <= '9') ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) return false;
      value = value * 16 + d;
    }
    out->push_back(static_cast<char>(value));
  }
  return true;
}

int PrintRatchetMessage(const std::string& hex) {
  std::string raw;
  parley::v1::RatchetMessage message;
  if (!Unhex(hex, &raw) || !message.ParseFromString(raw)) {
    std::cerr << "not a RatchetMessage" << std::endl;
    return 1;
  }
  parley::v1::RatchetHeader header;
  if (!header.ParseFromString(message.header())) {
    std::cerr << "the header does not decode" << std::endl;
    return 1;
  }
  std::cout << "ratchet_message.version " << header.version() << "\n"
            << "ratchet_message.ratchet_key " << Hex(header.ratchet_key()) << "\n"
            << "ratchet_message.previous_chain_length " << header.previous_chain_length() << "\n"
            << "ratchet_message.message_number " << header.message_number() << "\n"
            << "ratchet_message.ciphertext_bytes " << message.ciphertext().size() << "\n"
            << "ratchet_message.mac " << Hex(message.mac()) << "\n";
  if (!message.x3dh_header().empty()) {
    parley::v1::X3DHHeader x3dh;
    if (!x3dh.ParseFromString(message.x3dh_header())) {
      std::cerr << "the X3DH header does not decode" << std::endl;
      return 1;
    }
    std::cout << "x3dh.ephemeral_key " << Hex(x3dh.ephemeral_key()) << "\n"
              << "x3dh.signed_prekey_id " << x3dh.signed_prekey_id() << "\n"
              << "x3dh.initiator_signing_key " << Hex(x3dh.initiator_identity().signing_key())
              << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: parley_client SOCKET TOKEN_FILE [RATCHET_MESSAGE_HEX]" << std::endl;
    return 2;
  }
  std::ifstream file(argv[2]);
  std::string token;
  std::getline(file, token);
  if (token.empty()) {
    std::cerr << "no token in " << argv[2] << std::endl;
    return 2;
  }
  auto channel = grpc::CreateChannel(std::string("unix:") + argv[1],
                                     grpc::InsecureChannelCredentials());
  auto stub = parley::api::v1::ParleyService::NewStub(channel);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  parley::api::v1::GetAccountResponse account;
  grpc::Status status = stub->GetAccount(&context, parley::api::v1::GetAccountRequest(), &account);
  if (!status.ok()) {
    std::cerr << "GetAccount: " << status.error_code() << " " << status.error_message()
              << std::endl;
    return 1;
  }
  std::cout << "account.fingerprint " << account.fingerprint() << "\n"
            << "account.installation_id " << Hex(account.installation_id()) << "\n";
  return argc > 3 ? PrintRatchetMessage(argv[3]) : 0;
}
