// MD5 as lowercase hex: OfflineIMAP's FMD5 of folder names, and the content
// identity of uploads in the journal.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace oimap::storage {

// Incremental: update() with the bytes in order, then hex() once.
// Throws storage_error if OpenSSL cannot provide MD5.
class md5_hasher {
public:
  md5_hasher();
  void update(std::string_view data);
  std::string hex();

private:
  struct free_ctx {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, free_ctx> ctx_;
};

inline std::string md5_hex(std::string_view data) {
  md5_hasher h;
  h.update(data);
  return h.hex();
}

} // namespace oimap::storage
