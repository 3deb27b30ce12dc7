// Decode a parley.v1.RatchetMessage (hex, e.g. from test-vectors/wire.json)
// with the Java classes `make clients` generates from proto/ (java_package
// parley.v1, one class per message: java_multiple_files).
//
//   java -cp build/clients/java/classes:/usr/share/java/protobuf.jar ParleyWire HEX
import parley.v1.RatchetHeader;
import parley.v1.RatchetMessage;

public final class ParleyWire {
  private static byte[] unhex(String hex) {
    byte[] out = new byte[hex.length() / 2];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
    }
    return out;
  }

  public static void main(String[] args) throws Exception {
    RatchetMessage message = RatchetMessage.parseFrom(unhex(args[0]));
    RatchetHeader header = RatchetHeader.parseFrom(message.getHeader());
    System.out.println("ratchet_message.version " + header.getVersion());
    System.out.println("ratchet_message.message_number " + header.getMessageNumber());
    System.out.println("ratchet_message.ciphertext_bytes " + message.getCiphertext().size());
  }
}
