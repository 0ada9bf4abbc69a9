// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "solady/auth/Ownable.sol";
import {IMatcherAuthority} from "../interfaces/IMatcherAuthority.sol";

/// @title OwnedMatcherAuthority
/// @notice Matcher keys set by an owner: the bootstrap authority until matcher keys are attested on chain.
contract OwnedMatcherAuthority is IMatcherAuthority, Ownable {
    error ZeroAddress();

    event MatcherSet(address indexed matcher, bool authorised);

    mapping(address signer => bool) internal _matchers;

    /// @param owner_ May add and remove matcher keys.
    constructor(address owner_) {
        if (owner_ == address(0)) revert ZeroAddress();
        _initializeOwner(owner_);
    }

    /// @notice Authorises or removes a matcher key.
    function setMatcher(address matcher, bool authorised) external onlyOwner {
        if (matcher == address(0)) revert ZeroAddress();
        _matchers[matcher] = authorised;
        emit MatcherSet(matcher, authorised);
    }

    /// @inheritdoc IMatcherAuthority
    function isMatcher(address signer) external view returns (bool) {
        return _matchers[signer];
    }
}
