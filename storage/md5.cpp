// MD5 through OpenSSL's EVP interface.
#include "storage/md5.hpp"

#include "storage/storage_error.hpp"

#include <openssl/evp.h>

namespace oimap::storage {

void md5_hasher::free_ctx::operator()(evp_md_ctx_st* ctx) const {
  EVP_MD_CTX_free(ctx);
}

md5_hasher::md5_hasher() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_md5(), nullptr) != 1)
    throw storage_error("cannot compute md5: OpenSSL does not provide it");
}

void md5_hasher::update(std::string_view data) {
  if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1)
    throw storage_error("cannot compute md5");
}

std::string md5_hasher::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), digest, &len) != 1)
    throw storage_error("cannot compute md5");
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(digits[digest[i] >> 4]);
    out.push_back(digits[digest[i] & 0xf]);
  }
  return out;
}

} // namespace oimap::storage
